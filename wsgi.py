from pasdienst.web.app import create_app

#: What gunicorn serves: ``gunicorn wsgi:app``.
app = create_app()
