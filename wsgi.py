from pasdienst.web.app import create_app; app = create_app()  # noqa: E702  (gunicorn wsgi:app)
