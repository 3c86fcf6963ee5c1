"""Tokens left in the rendered issue for delivery to fill per recipient.

They are plain ASCII with no characters that HTML, quoted-printable or URL
encoding would change, so they can be found and replaced in message bytes.
"""

UNSUBSCRIBE_URL = "%%UNSUBSCRIBE_URL%%"
RECIPIENT_EMAIL = "%%RECIPIENT_EMAIL%%"
PREFERENCES_URL = "%%PREFERENCES_URL%%"  # the reader's page for themes, a pause, leaving (same token as unsubscribing)

ALL = (UNSUBSCRIBE_URL, RECIPIENT_EMAIL, PREFERENCES_URL)
