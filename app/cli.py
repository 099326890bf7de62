"""``python -m app``: serve, migrate and the other operational commands."""

from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[1]

cli = typer.Typer(help="Operate the application.", no_args_is_help=True, add_completion=False)


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config


def run_migrations() -> None:
    """Upgrade the database to the newest revision."""
    command.upgrade(alembic_config(), "head")


@cli.command()
def migrate() -> None:
    """Apply every pending migration (alembic upgrade head)."""
    run_migrations()
    typer.echo("Database is up to date.")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Run migrations before serving.")
    ] = True,
) -> None:
    """Migrate the database, then serve the API with uvicorn."""
    import uvicorn

    from app.core.configs import app_config

    app_config.check_startup()
    if migrate_first:
        run_migrations()
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        access_log=False,
        proxy_headers=False,
        log_config=None,
    )
