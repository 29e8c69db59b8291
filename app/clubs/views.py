from flask import Blueprint

bp = Blueprint("clubs", __name__, url_prefix="/api/clubs")
