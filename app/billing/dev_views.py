from flask import Blueprint

bp = Blueprint("billing_dev", __name__, url_prefix="/api/dev/billing")
