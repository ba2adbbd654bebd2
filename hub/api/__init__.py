"""The JSON API for other systems (``/api/v1``) and the page where people make its tokens;
``hub.api.install.init_app`` puts both on the app."""
