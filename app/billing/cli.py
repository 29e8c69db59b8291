from flask.cli import AppGroup

billing_cli = AppGroup("billing", help="Operator commands for billing.")
