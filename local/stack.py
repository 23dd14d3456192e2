"""The whole system on one machine: emulators, the API gateway, moto, the real handlers and state machine."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from . import crash_control, lambda_runtime
from .aws import TABLE, LocalAws
from .controls import control_routes
from .emulators import abax as abax_emulator
from .emulators import poweroffice as poweroffice_emulator
from .gateway import INTEGRATION_TIMEOUT_S, gateway_routes, openapi_document
from .servers import BackgroundServer

DEV_APPLICATION_KEY = "local-dev-application-key-0b9e"
DEV_SUBSCRIPTION_KEY = "local-dev-subscription-key-5c1d"
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def demo_data(name: str) -> dict[str, Any]:
    return json.loads(resources.files("local").joinpath("demo_data", name).read_text(encoding="utf-8"))


def load_data(path: str | Path | None, default: str) -> dict[str, Any]:
    if path is None:
        return demo_data(default)
    return json.loads(Path(path).read_text(encoding="utf-8"))


def emulators_app(
    abax_data: str | Path | None = None, poweroffice_data: str | Path | None = None
) -> Starlette:
    """Both emulators under the paths the local stack serves them at (`/emulators/poweroffice`,
    `/emulators/abax`) and `/health`: `abax-payroll local emulators` runs this in a process of its own, as
    the real services run elsewhere, and `serve --poweroffice-url …/emulators/poweroffice/v2` etc. use it.
    PowerOffice's keys are the local stack's (POWEROFFICE_APPLICATION_KEY / _SUBSCRIPTION_KEY, or the
    development values)."""

    async def health(_: Any) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    poweroffice = poweroffice_emulator.create_app(
        load_data(poweroffice_data, "poweroffice.json"),
        os.environ.get("POWEROFFICE_APPLICATION_KEY", DEV_APPLICATION_KEY),
        os.environ.get("POWEROFFICE_SUBSCRIPTION_KEY", DEV_SUBSCRIPTION_KEY),
    )
    abax = abax_emulator.create_app(load_data(abax_data, "abax.json"))
    return Starlette(
        routes=[
            Route("/health", health),
            Mount("/emulators/poweroffice", app=poweroffice),
            Mount("/emulators/abax", app=abax),
        ]
    )


class LocalStack:
    """`start()` serves everything on one port and points the handlers' settings at it."""

    def __init__(
        self,
        port: int | None = None,
        abax_data: str | Path | dict[str, Any] | None = None,
        poweroffice_data: str | Path | dict[str, Any] | None = None,
        environment: dict[str, str] | None = None,
    ):
        os.environ.setdefault("POWEROFFICE_APPLICATION_KEY", DEV_APPLICATION_KEY)
        os.environ.setdefault("POWEROFFICE_SUBSCRIPTION_KEY", DEV_SUBSCRIPTION_KEY)
        self.application_key = os.environ["POWEROFFICE_APPLICATION_KEY"]
        self.subscription_key = os.environ["POWEROFFICE_SUBSCRIPTION_KEY"]
        abax = abax_data if isinstance(abax_data, dict) else load_data(abax_data, "abax.json")
        poweroffice = (
            poweroffice_data
            if isinstance(poweroffice_data, dict)
            else load_data(poweroffice_data, "poweroffice.json")
        )
        self.poweroffice_app = poweroffice_emulator.create_app(
            poweroffice, self.application_key, self.subscription_key
        )
        self.abax_app = abax_emulator.create_app(abax)
        self.poweroffice = self.poweroffice_app.state.emulator
        self.abax = self.abax_app.state.emulator
        self._environment = environment or {}
        self.serves_other_data = abax_data is not None or poweroffice_data is not None
        self.gateway_timeout_s = INTEGRATION_TIMEOUT_S  # API Gateway's 29 s (a test may shorten it)
        self.aws = LocalAws()
        self.server = BackgroundServer(self._app(), port)
        self.url = self.server.url

    def _app(self) -> Starlette:
        def route_to(path: str) -> Any:
            from functions.activate.app import handler as activate
            from functions.export.app import handler as export

            if path.startswith("/integrations/"):
                return "abax-payroll-activate", self.aws.as_function("Activate", activate)
            return "abax-payroll-export-api", self.aws.as_function("ExportApi", export)

        async def health(_: Any) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        async def web_config(_: Any) -> JSONResponse:  # the web app: local stack = development login
            return JSONResponse({"mode": "local", "api_url": "/v1"})

        async def dev_token(
            request: Any,
        ) -> JSONResponse:  # unauthenticated on purpose: local stack only, never in AWS
            from .auth import ROLES, mint_token

            try:
                body = await request.json()
                tenant, role = str(body["tenant"]).strip(), str(body["role"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"detail": 'send {"tenant": "acme", "role": "admin"}'}, status_code=400)
            if not tenant or role not in ROLES:
                return JSONResponse(
                    {"detail": f"tenant is required and role one of {', '.join(ROLES)}"}, status_code=400
                )
            return JSONResponse({"token": mint_token(tenant, role, expires_in=8 * 3600)})

        routes: list[Any] = [
            Route("/health", health),
            Route("/config.json", web_config, methods=["GET"]),
            Route("/local/token", dev_token, methods=["POST"]),
            *control_routes(self),
            *gateway_routes(route_to, openapi_document, lambda: self.gateway_timeout_s),
            *crash_control.routes(),
            Mount("/emulators/poweroffice", app=self.poweroffice_app),
            Mount("/emulators/abax", app=self.abax_app),
        ]
        if (WEB_DIR / "index.html").exists():
            from starlette.staticfiles import StaticFiles

            routes.append(Mount("/", app=StaticFiles(directory=WEB_DIR, html=True)))
        return Starlette(routes=routes)

    def start(self) -> LocalStack:
        self.aws.start()
        environment = {
            "TABLE_NAME": TABLE,
            "STATE_MACHINE_ARN": self.aws.state_machine_arn,
            "POWEROFFICE_API_URL": f"{self.url}/emulators/poweroffice/v2",
            "POWEROFFICE_TOKEN_URL": f"{self.url}/emulators/poweroffice/OAuth/Token",
            "ABAX_API_URL": f"{self.url}/emulators/abax",
            "ABAX_TOKEN_URL": f"{self.url}/emulators/abax/connect/token",
            # Paced to the emulator's limit (ABAX's own: 60 per 60 s); a test that scales one scales both.
            "ABAX_REQUESTS_PER_WINDOW": str(abax_emulator.DEFAULT_REQUESTS_PER_MINUTE),
            "ABAX_RATE_WINDOW_S": str(abax_emulator.RATE_WINDOW_S),
            # The link in a scheduled export's e-mail: the web app this gateway serves.
            "WEB_APP_URL": self.url,
            "POWERTOOLS_SERVICE_NAME": "abax-payroll",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "AbaxPayroll",
            # No CloudWatch here to receive EMF, and powertools' Metrics is process-wide: concurrent
            # in-process invocations (one process per instance in Lambda) would race on its flush.
            "POWERTOOLS_METRICS_DISABLED": "true",
            **self._environment,
        }
        os.environ.update(environment)
        from abax_payroll.workflow.services import reset_services

        reset_services()
        self.server.start()
        return self

    def load(
        self, abax_data: dict[str, Any] | None = None, poweroffice_data: dict[str, Any] | None = None
    ) -> None:
        """Serve other companies (a test's own data files) from now on; `reset()` returns to them."""
        if abax_data is not None:
            self.abax.replace_data(abax_data)
        if poweroffice_data is not None:
            self.poweroffice.replace_data(poweroffice_data)
        self.serves_other_data = True

    def load_demo(self) -> None:
        """Back to the built-in demo companies (after `load`), fresh."""
        if self.serves_other_data:
            self.load(demo_data("abax.json"), demo_data("poweroffice.json"))
            self.serves_other_data = False
        self.reset()

    def reset(self) -> None:
        """Back to a fresh company: emulators to their data files, an empty table and bucket, no tenant's secret."""
        import boto3

        from . import lambda_runtime
        from .aws import FUNCTIONS, REGION, SNAPSHOT_BUCKET, create_table

        lambda_runtime.end_invocations(FUNCTIONS["PusherFunctionArn"][0])  # before its table is wiped
        self.poweroffice.reset()
        self.abax.reset()
        lambda_runtime.clear_crashes()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.delete_table(TableName=TABLE)
        create_table(dynamodb, TABLE)
        s3 = boto3.client("s3", region_name=REGION)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=SNAPSHOT_BUCKET):
            keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=SNAPSHOT_BUCKET, Delete={"Objects": keys, "Quiet": True})
        secrets = boto3.client("secretsmanager", region_name=REGION)
        for page in secrets.get_paginator("list_secrets").paginate():
            for secret in page["SecretList"]:
                secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
        self.aws.create_platform_secrets()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke a function directly (as EventBridge Scheduler does the schedule), as its CDK role."""
        from .aws import _load_handler
        from .lambda_runtime import LocalContext

        handlers = {
            "Schedule": "functions.export.schedule:handler",
            "Reconcile": "functions.export.reconcile:handler",
        }
        handler = self.aws.as_function(function, _load_handler(handlers[function]))
        return handler(event, LocalContext(function_name=function))

    def run_schedule(self, time: str, timeout: float = 60) -> dict[str, Any]:
        """The daily schedule at `time` (ISO 8601), then until every start it queued was handled."""
        queued = self.invoke("Schedule", {"source": "abax-payroll.schedule", "scheduled_time": time})
        self.wait_for_scheduled_starts(timeout)
        return dict(queued)

    def wait_for_scheduled_starts(self, timeout: float = 60) -> None:
        assert self.aws.scheduled_starts is not None
        self.aws.scheduled_starts.wait_until_idle(timeout)

    @contextlib.contextmanager
    def quick_pusher_replacement(self, hold_s: float = 3.0, schedule_s: float = 2.0) -> Iterator[None]:
        """Meanwhile a pusher that died is replaced within seconds: its hold lapses after `hold_s` (in AWS
        `PUSHER_HOLD_S`, 60 s) and the schedule wakes the next one every `schedule_s` (a minute in AWS). For
        tests that kill the pusher; a pusher running now ends first, as it holds on with its own hold."""
        from .aws import FUNCTIONS

        previous = os.environ.get("PUSHER_HOLD_S")
        os.environ["PUSHER_HOLD_S"] = str(hold_s)
        lambda_runtime.end_invocations(FUNCTIONS["PusherFunctionArn"][0])
        schedule = self.aws.pusher_schedule
        try:
            with schedule.every(schedule_s) if schedule is not None else contextlib.nullcontext():
                yield
        finally:
            if previous is None:
                os.environ.pop("PUSHER_HOLD_S", None)
            else:
                os.environ["PUSHER_HOLD_S"] = previous

    def crash(
        self,
        point: str,
        function: str | None = None,
        *,
        nth: int = 1,
        times: int = 1,
        delay_s: float = 0.0,
        **where: Any,
    ) -> lambda_runtime.Crash:
        """Kill the `nth` invocation of a task function (`ExportSteps`, `Rollback`, or any) whose event holds
        `where` (`step="push"`, `export_id=…`) at `point`: `lambda_runtime.BEFORE` its work, `AFTER` it and
        before it answers, or a point the code names (`push.lines_created`). It answers Runtime.ExitError.
        With `delay_s` it stalls there that long instead, and goes on."""
        return lambda_runtime.crash(
            point, crash_control.function_name(function), nth=nth, times=times, delay_s=delay_s, **where
        )

    def stop(self) -> None:
        self.server.stop()
        self.aws.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
