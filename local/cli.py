"""`abax-payroll`: the command line of the local stack (serve, token, demo)."""

from __future__ import annotations

import argparse
import sys


def _serve(args: argparse.Namespace) -> int:
    from .servers import serve_until_stopped
    from .stack import LocalStack

    stack = LocalStack(
        port=args.port,
        abax_data=args.abax_data,
        poweroffice_data=args.poweroffice_data,
        environment=endpoint_environment(args),
    ).start()
    environment = endpoint_environment(args)
    print(f"API                  {stack.url}/v1   (OpenAPI: {stack.url}/v1/openapi.json)")
    if "POWEROFFICE_API_URL" in environment:
        print(
            f"PowerOffice Go       {environment['POWEROFFICE_API_URL']}   (token {environment['POWEROFFICE_TOKEN_URL']})"
        )
    else:
        print(f"PowerOffice emulator {stack.url}/emulators/poweroffice   (token /OAuth/Token, API /v2)")
    if "ABAX_API_URL" in environment:
        print(f"ABAX                 {environment['ABAX_API_URL']}   (token {environment['ABAX_TOKEN_URL']})")
    else:
        print(f"ABAX emulator        {stack.url}/emulators/abax")
    print(f"Web app              {stack.url}/")
    print("Token: abax-payroll local token --tenant acme --role admin", flush=True)
    serve_until_stopped()
    stack.stop()
    return 0


def _emulators(args: argparse.Namespace) -> int:
    from .servers import BackgroundServer, serve_until_stopped
    from .stack import emulators_app

    server = BackgroundServer(emulators_app(args.abax_data, args.poweroffice_data), args.port).start()
    print(f"PowerOffice emulator {server.url}/emulators/poweroffice   (token /OAuth/Token, API /v2)")
    print(f"ABAX emulator        {server.url}/emulators/abax", flush=True)
    serve_until_stopped()
    server.stop()
    return 0


def endpoint_environment(args: argparse.Namespace) -> dict[str, str]:
    """The service's endpoints pointed elsewhere (PowerOffice Go's demo, ABAX's sandbox, any conforming
    server) while the rest stays local; an API URL and its token URL go together."""
    environment: dict[str, str] = {}
    for api, token, prefix in (
        (args.abax_url, args.abax_token_url, "ABAX"),
        (args.poweroffice_url, args.poweroffice_token_url, "POWEROFFICE"),
    ):
        if bool(api) != bool(token):
            raise SystemExit(f"--{prefix.lower()}-url and --{prefix.lower()}-token-url go together")
        if api:
            environment[f"{prefix}_API_URL"] = api.rstrip("/")
            environment[f"{prefix}_TOKEN_URL"] = token
    if args.abax_scope:
        environment["ABAX_SCOPE"] = args.abax_scope
    return environment


def _token(args: argparse.Namespace) -> int:
    from .auth import mint_token

    print(mint_token(args.tenant, args.role, expires_in=args.expires_in))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(port=args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="abax-payroll", description="ABAX → PowerOffice Go payroll export")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="the local stack: no AWS account, no Docker").add_subparsers(
        dest="local", required=True
    )

    serve = local.add_parser("serve", help="serve the API, both emulators and the web app on one port")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--abax-data", help="ABAX data file (default: the built-in demo company)")
    serve.add_argument(
        "--poweroffice-data", help="PowerOffice Go data file (default: the built-in demo company)"
    )
    serve.add_argument(
        "--abax-url", help="ABAX Open API base instead of the emulator (sandbox: https://api-test.abax.cloud)"
    )
    serve.add_argument(
        "--abax-token-url", help="ABAX token endpoint (https://identity.abax.cloud/connect/token)"
    )
    serve.add_argument(
        "--abax-scope", help='ABAX scopes (the sandbox: "open_api.sandbox open_api.sandbox.trips")'
    )
    serve.add_argument(
        "--poweroffice-url", help="PowerOffice Go v2 API base (demo: https://goapi.poweroffice.net/Demo/v2)"
    )
    serve.add_argument(
        "--poweroffice-token-url",
        help="PowerOffice Go token endpoint (demo: https://goapi.poweroffice.net/Demo/OAuth/Token)",
    )
    serve.set_defaults(run=_serve)

    emulators = local.add_parser(
        "emulators",
        help="serve only the two emulators, in a process of their own (point `serve --poweroffice-url` etc. at it)",
    )
    emulators.add_argument("--port", type=int, default=8001)
    emulators.add_argument("--abax-data", help="ABAX data file (default: the built-in demo company)")
    emulators.add_argument(
        "--poweroffice-data", help="PowerOffice Go data file (default: the built-in demo company)"
    )
    emulators.set_defaults(run=_emulators)

    token = local.add_parser("token", help="print a Bearer token the local gateway accepts")
    token.add_argument("--tenant", required=True)
    token.add_argument("--role", required=True, choices=["admin", "payroll"])
    token.add_argument("--expires-in", type=int, default=8 * 3600, help="seconds (default 8 h)")
    token.set_defaults(run=_token)

    demo = local.add_parser("demo", help="walk the whole story end to end on an in-process stack")
    demo.add_argument("--port", type=int, default=None, help="port to serve on (default: a free one)")
    demo.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
