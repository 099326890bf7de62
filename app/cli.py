"""``python -m app``: serve, migrate and the other operational commands."""

import os
import shutil
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from app.core.configs import AppConfig

PROJECT_ROOT = Path(__file__).resolve().parents[1]

cli = typer.Typer(help="Operate the application.", no_args_is_help=True, add_completion=False)


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config


def run_migrations() -> None:
    """Upgrade the database to the newest revision."""
    command.upgrade(alembic_config(), "head")


def share_metrics_dir(config: "AppConfig") -> None:
    """Before starting processes that report metrics together: give them one empty directory
    (``PROMETHEUS_MULTIPROC_DIR``, emptied, or a new temporary one). Runs before anything
    imports ``prometheus_client``, which reads the variable once, at import."""
    if not config.METRICS_ENABLED:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="app-metrics-")


@cli.command()
def migrate() -> None:
    """Apply every pending migration (alembic upgrade head)."""
    run_migrations()
    typer.echo("Database is up to date.")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to bind.", min=1, max=65535, envvar="PORT")
    ] = 8000,
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
    if workers > 1 and not reload:
        share_metrics_dir(app_config)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=None,
    )


@cli.command()
def worker(
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: QUEUE_WORKERS).", min=1)
    ] = None,
    max_async_tasks: Annotated[int, typer.Option(help="Tasks run at once per process.")] = 50,
) -> None:
    """Run queue workers: they execute the tasks pushed with QueueService (needs REDIS_URL)."""
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    from app.core.configs import app_config

    share_metrics_dir(app_config)
    _start_beside_redis("tasks run inside the API process, no worker is needed")
    args = WorkerArgs.from_cli(
        [
            "app.core.tasks:broker",
            "--workers",
            str(workers or app_config.QUEUE_WORKERS),
            "--max-async-tasks",
            str(max_async_tasks),
            "--no-configure-logging",
            "--shutdown-timeout",
            "30",
        ]
    )
    raise typer.Exit(code=run_worker(args) or 0)


def _start_beside_redis(without_redis: str) -> None:
    """Set up logging for a process that works through Redis; exit 2 saying ``without_redis``
    when ``REDIS_URL`` is not set."""
    from app.core.configs import app_config
    from app.core.configs.structlog import configure_logging

    configure_logging(app_config)
    if not app_config.REDIS_URL:
        typer.echo(f"REDIS_URL is not set: {without_redis}.", err=True)
        raise typer.Exit(code=2)


@cli.command()
def scheduler(
    poll: Annotated[
        float | None,
        typer.Option(
            help="Seconds between looks for due jobs (default: SCHEDULER_POLL_SECONDS).", min=0.1
        ),
    ] = None,
) -> None:
    """Queue scheduled jobs (@scheduled tasks) when they are due; queue workers run them.

    Several may run, for availability: each tick of a job is queued once.

    Ticks missed while no scheduler ran: the latest is queued once, at start.

    Without REDIS_URL the API process runs the schedule instead.
    """
    import asyncio

    from app.core.configs import app_config

    _start_beside_redis("the API process runs the schedule, no scheduler is needed")
    asyncio.run(_run_scheduler(poll or app_config.SCHEDULER_POLL_SECONDS or 1.0))


async def _run_scheduler(poll: float) -> None:
    from app.core.configs import app_config
    from app.core.db import DatabaseRole
    from app.core.resources import close_resources, open_resources
    from app.core.services.heartbeat import Heartbeat, heartbeat_dir
    from app.core.services.log import logger
    from app.core.services.scheduler import Scheduler, run_forever, schedule
    from app.core.tasks import broker

    heartbeat = Heartbeat(heartbeat_dir(app_config, "scheduler"))
    await open_resources(DatabaseRole.WORKER)
    await broker.startup()
    await heartbeat.start()
    await logger.a_info("scheduler started", jobs=sorted(schedule), poll_seconds=poll)
    try:
        await run_forever(Scheduler(), poll)
    finally:
        await heartbeat.stop()
        await broker.shutdown()
        await close_resources()


class HealthTarget(StrEnum):
    API = "api"
    WORKER = "worker"
    SCHEDULER = "scheduler"


@cli.command()
def healthcheck(
    target: Annotated[HealthTarget, typer.Argument(help="What this container runs.")] = (
        HealthTarget.API
    ),
    port: Annotated[
        int, typer.Option(help="The API's port.", min=1, max=65535, envvar="PORT")
    ] = 8000,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 3.0,
) -> None:
    """Exit 0 when the API on this host answers /health, or when every queue worker (or
    scheduler) process is alive (its event loop beat recently): the container health check."""
    if target is not HealthTarget.API:
        from app.core.configs import app_config
        from app.core.services.heartbeat import INTERVAL_SECONDS, check_workers, heartbeat_dir

        what = "queue worker" if target is HealthTarget.WORKER else "scheduler"
        directory = heartbeat_dir(app_config, target.value)
        problem = check_workers(directory, max_age=INTERVAL_SECONDS * 4, what=what)
    else:
        import urllib.error
        import urllib.request

        url = f"http://127.0.0.1:{port}/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                problem = None if response.status == 200 else f"{url} answered {response.status}"
        except (OSError, urllib.error.URLError) as error:
            problem = f"{url}: {error}"
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(code=1)


async def _create_admin(email: str, username: str, password: str) -> int:
    from app.auth.services.user import UserService
    from app.core.db import database
    from app.core.deps import unit_of_work

    database.connect()
    try:
        async with unit_of_work() as uow:
            user = await UserService(uow.db, uow.events).create(
                email=email,
                username=username,
                password=password,
                is_admin=True,
                email_verified=True,
            )
            return user.id
    finally:
        await database.disconnect()


@cli.command("create-admin")
def create_admin(
    email: Annotated[
        str, typer.Option(prompt=True, help="Email of the new admin; asked for when omitted.")
    ] = "",
    username: Annotated[
        str, typer.Option(prompt=True, help="Username of the new admin; asked for when omitted.")
    ] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Password (8-128 chars); asked for, twice and hidden, when omitted.",
        ),
    ] = "",
) -> None:
    """Create an administrator account; prompts for whatever is not given."""
    import asyncio

    import pydantic

    from app.auth.schemas.user import UserCreate
    from app.core.exceptions import DomainError

    try:
        data = UserCreate(email=email, username=username, password=password)
    except pydantic.ValidationError as error:
        for problem in error.errors():
            typer.echo(f"{problem['loc'][0]}: {problem['msg']}", err=True)
        raise typer.Exit(code=2) from None
    try:
        user_id = asyncio.run(_create_admin(data.email, data.username, data.password))
    except DomainError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"Admin {data.username} created with id {user_id}.")


@cli.command("new-module")
def new_module(
    name: Annotated[str, typer.Argument(help="Module name, e.g. blog (lowercase).")],
    entity: Annotated[
        str | None, typer.Option(help="Entity class name, e.g. Post (default: from NAME).")
    ] = None,
) -> None:
    """Create app/NAME and tests/NAME: a CRUD module wired into the kernel."""
    from app.scaffold import ScaffoldError, create_module

    try:
        written = create_module(PROJECT_ROOT, name, entity)
    except ScaffoldError as error:
        typer.echo(f"Nothing was changed: {error}", err=True)
        raise typer.Exit(code=2) from None
    for path in written:
        typer.echo(f"  wrote {path.relative_to(PROJECT_ROOT)}")
    typer.echo(
        "\nNext steps:\n"
        f'  1. make migration m="create {name} tables"   (review the file in alembic/versions)\n'
        "  2. make migrate\n"
        f"  3. make test ARGS=tests/{name}\n"
        "  4. make openapi   (commit openapi.json with the module)\n"
    )


@cli.command()
def routes() -> None:
    """List the API's routes (from its OpenAPI document): method, path and summary."""
    from app.main import app

    rows = [
        (method.upper(), path, operation.get("summary", ""))
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]
    width = max((len(path) for _, path, _ in rows), default=0)
    for method, path, summary in rows:
        typer.echo(f"{method:<7} {path:<{width}}  {summary}".rstrip())


OPENAPI_FILE = PROJECT_ROOT / "openapi.json"


@cli.command()
def openapi(
    check: Annotated[
        bool, typer.Option("--check", help="Fail when openapi.json differs from the code's.")
    ] = False,
) -> None:
    """Write the API's OpenAPI document to openapi.json (committed, so API changes show up in
    review), or with --check exit 1 when the committed one is out of date."""
    import json

    from app.main import create_app

    document = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if not check:
        OPENAPI_FILE.write_text(document)
        typer.echo(f"Wrote {OPENAPI_FILE.name}.")
        return
    committed = OPENAPI_FILE.read_text() if OPENAPI_FILE.exists() else ""
    if committed != document:
        typer.echo(
            f"{OPENAPI_FILE.name} is out of date: run `python -m app openapi` and commit it.",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(f"{OPENAPI_FILE.name} is up to date.")
