import os

from django.core.wsgi import get_wsgi_application

# Started by a WSGI server without the `zegel` command (gunicorn zegel.wsgi): the data files it
# creates are the owner's only, as under `zegel serve`.
os.umask(0o077)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")
application = get_wsgi_application()
