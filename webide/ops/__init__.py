"""Operations: liveness, readiness and Prometheus metrics for load balancers, orchestrators and monitoring."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from . import views  # noqa: E402,F401
