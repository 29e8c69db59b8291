from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/api/events")
