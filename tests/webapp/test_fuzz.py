"""The API fuzzed from its own OpenAPI document (Schemathesis) against a real server with a real
Celery worker: every operation, a fixed seed, a bounded number of examples each. No answer may
be a 5xx, and every answer must match the documented status codes, content types and schema.

Generated uploads (``format: binary``) mix real photos from ``../shared/data`` with the hostile
corpus (``tests/hostile.py``); requests carry an account's API key, so the operations that need
one are reached, and a second pass sends none (401s must be documented too).
"""

from __future__ import annotations

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from ml.galleries.store import delete_gallery, list_galleries
from tests import hostile
from tests.support import lfw
from tests.webapp.support import Stack
from webapp.core import accounts

pytestmark = pytest.mark.integration

EXAMPLES = 12  # per operation and pass: bounded, so the suite stays within minutes
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
UPLOADS = [lfw("Tony_Blair", 1).read_bytes(), lfw("Serena_Williams", 2).read_bytes(),
           *(make() for name, make in hostile.IMAGES.items()
             if name not in ("25-megabytes.jpg", "noise.png", "60-faces.jpg"))]
schemathesis.openapi.format("binary", st.sampled_from(UPLOADS))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, web_gallery):
    """A real HTTP server with a worker of its own (the fuzzer's hundreds of jobs must not
    queue up in front of other tests') and an API key."""
    folder = tmp_path_factory.mktemp("fuzz")
    stack = Stack(folder, web_gallery, f"sqla+sqlite:///{folder / 'broker.sqlite'}",
                  f"db+sqlite:///{folder / 'results.sqlite'}")
    stack.start_worker("fuzz")
    app = stack.app(UPLOAD_LIMIT="100000 per minute")
    with app.app_context():
        user = accounts.db.session.scalar(
            accounts.select(accounts.User).where(accounts.User.username == "fuzzer"))
        user = user or accounts.create_user("fuzzer", "fuzzer password")
        key = accounts.create_key(user, "schemathesis")
        owner = user.owner_id  # its galleries are stored as OWNER@name
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_port}"
    yield url, {"Authorization": f"Bearer {key}"}
    httpd.shutdown()
    stack.stop()
    for stored in list_galleries():
        if stored.startswith(f"{owner}@"):  # made by its enrolment jobs
            delete_gallery(stored)


def fuzz(url: str, headers: dict, examples: int,
         mode: GenerationMode = GenerationMode.POSITIVE) -> tuple[int, list[str]]:
    """Every operation of the served document, ``examples`` generated cases each (a fixed
    seed; ``mode``: data that fits the document, or data that does not): how many requests
    were made, and what failed."""
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    made, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit,
                  Phase.generate])
        def run(case) -> None:
            nonlocal made
            made += 1
            case.call_and_validate(base_url=f"{url}/api/v1", headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing to make wrong (no parameters): nothing to send
            continue
        except Exception as exc:  # one operation's failure: note it and fuzz the others
            failures.append(f"{mode} {operation.label}: {str(exc)[:1500]}")
    return made, failures


def test_every_operation_with_a_key_and_as_a_visitor(fuzzed):
    url, key = fuzzed
    made, failures = fuzz(url, key, EXAMPLES)
    made_bad, bad_failures = fuzz(url, key, EXAMPLES // 2, GenerationMode.NEGATIVE)
    made_visitor, visitor_failures = fuzz(url, {}, EXAMPLES // 3)
    print(f"fuzzed requests: {made} fitting the document and {made_bad} not, with an API key; "
          f"{made_visitor} as a visitor")
    failures += bad_failures + visitor_failures
    assert not failures, "\n\n".join(failures)
    assert made > 100 and made_bad > 50
