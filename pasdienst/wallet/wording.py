"""What a family reads about its pass, written once for the pass page, the
letter on screen and the printed letter (PDF).

Every text a family gets (these pages, the letters, the reminder mail, the
opt-out page) speaks to the parent as "u": the letter is addressed to a
"ouder of verzorger", and one household should not be spoken to in two
registers. Nothing here says why the child has the pass.
"""

from __future__ import annotations

#: How the letter greets its reader: whoever opens it at home.
GREETING = "Beste ouder of verzorger,"
BALANCE_HEADING = "Tegoed op de pas"
GOOD_TO_KNOW = "Goed om te weten"
QUESTIONS_HEADING = "Vragen of pas kwijt?"
SIGN_OFF = "Met vriendelijke groet,"
PRINT_HINT = "Druk deze brief af met de afdrukknop van uw browser."


def introduction(first_name: str) -> str:
    return (f"Hier is de kinderpas van {first_name}. Met de pas betaalt u bij winkels, clubs en scholen die "
            "meedoen: laat de QR-code scannen, of noem de code als scannen niet lukt.")


def keep_private(first_name: str) -> str:
    return f"De pas is van {first_name}. Laat de QR-code en de code alleen zien als u betaalt."


def balance_online(url: str) -> str:
    return f"U ziet het tegoed altijd op {url} (de QR-code opent die pagina ook)."


def lost_pass(municipality_name: str, pass_number: str) -> str:
    return (f"Neem contact op met {municipality_name} en noem het pasnummer {pass_number}. "
            "Is de pas kwijt, dan krijgt u een nieuwe pas met het tegoed dat nog over is.")


def no_contact(municipality_name: str) -> str:
    """Where a family looks when its municipality has set no contact details."""
    return f"Bel het algemene telefoonnummer van {municipality_name}, of kijk op de website van de gemeente."


def more_vouchers(left: int) -> str:
    """The printed letter's last line when not every voucher fits on its page."""
    return f"En nog {left} {'tegoed' if left == 1 else 'tegoeden'}: u ziet ze op de pagina van de pas."
