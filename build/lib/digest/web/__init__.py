"""The web side: the public unsubscribe/archive app (``digest serve``) and, later, the editor preview."""
