"""Flask extensions, created unbound and bound in ``create_app``."""
from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.db import metadata

db = SQLAlchemy(metadata=metadata)
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()


class PortalLimiter(Limiter):
    """The pages' rate limiter. No API route is rate limited (keys are accountable, and the
    sending platform calls the API at volume), so API requests skip the limiter's per-request
    work altogether: resolving limits and exemptions costs a quarter of a suppression lookup."""

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if request.blueprint == "api":
            return
        super()._check_request_limit(callable_name, in_middleware)


limiter = PortalLimiter(key_func=get_remote_address)
babel = Babel()
