"""`include(app, router, ...)`: `app.include_router(router, ...)`, but the router's routes become routes of
the app's own router.

FastAPI (0.16x) keeps an included router as a lazy `_IncludedRouter`: on every request it tries each one in
turn, and each try re-checks the version of that router's routes and matches through a per-inclusion
context before the route's own regex. With the API's and the pages' thirty-odd routers included, that was
the largest part of the routing of a request (POST /api/assessments: about a fifth of its server time
while the routers were nested, still a few percent one level deep); the app's own routes are matched like
a bare app's, one regex each, in order.

A route is copied the way FastAPI's own `include_router` copied them before it became lazy: the prefix, the
inclusion's dependencies first (the CSRF check), its `include_in_schema`, everything else as the route
declared it (its router's prefix, tags, dependencies and responses are in it already). The app's router
adds what the app gives every route (its dependency overrides, body limit, response class).
`tests/api/test_routing.py` holds every route's CSRF check; the OpenAPI document is the same as with
`include_router`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, params
from fastapi.routing import APIRoute, APIRouter


def include(app: FastAPI, router: APIRouter, *, prefix: str = "", dependencies: Sequence[params.Depends] = (),
            include_in_schema: bool = True) -> None:
    for route in router.routes:
        if not isinstance(route, APIRoute):  # a nested router or a mount: include it the usual way instead
            raise TypeError(f"{route!r} in {router!r} is not a plain API route")
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=list(route.tags),
            dependencies=[*dependencies, *route.dependencies],
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=dict(route.responses),
            deprecated=route.deprecated,
            methods=set(route.methods or ()),
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema and include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
        )
