from __future__ import annotations

import time

from django_tenants.utils import schema_context

from assistant.models import Message
from billing.ledger.models import UsageEvent
from billing.models import QuotaCounter
from billing.services import cost_micros, current_period
from tests.conftest import ApiClient, make_org


def _wait_for_answer(client: ApiClient, message_id: int) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = client.get(f"/api/v1/messages/{message_id}/").json()
        if message["status"] != "streaming":
            return message
        time.sleep(0.1)
    raise AssertionError(f"answer {message_id} still streaming after 30 s")


def test_offline_answer_is_recorded_but_free():
    org = make_org("usage")
    client = ApiClient(org.host, org.owner.token)
    document = client.post(
        "/api/v1/documents/",
        {"title": "Notes", "content": "Trace trees cover hot loops. " * 30},
    ).json()
    conversation = client.post(
        "/api/v1/conversations/", {"document_ids": [document["id"]]}
    ).json()

    asked = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages/",
        {"content": "What do trace trees cover?"},
    ).json()
    answer = _wait_for_answer(client, asked["assistant_message"]["id"])

    assert answer["status"] == "complete"
    with schema_context(org.schema):
        events = list(UsageEvent.objects.filter(message_id=answer["id"]))
        message = Message.objects.get(pk=answer["id"])
    assert len(events) == 1
    assert events[0].engine == "offline"
    assert events[0].cost_micros == 0
    assert events[0].output_tokens > 0
    counter = QuotaCounter.objects.filter(
        organization=org.organization, period_start=current_period()
    ).first()
    # The offline engine is free: its tokens are in the ledger only.
    assert counter is None or (counter.used, counter.reserved) == (0, 0)
    assert message.reserved_tokens == 0

    usage = client.get("/api/v1/usage/").json()
    assert usage["used"] == 0
    assert usage["tokens"] == events[0].total_tokens
    assert usage["limit"] == org.organization.plan.monthly_tokens
    assert usage["remaining"] == usage["limit"]
    assert usage["plan"]["slug"] == "free"
    assert usage["output_tokens"] == events[0].output_tokens
    assert sum(day["tokens"] for day in usage["daily"]) == usage["tokens"]
    assert usage["daily"][-1]["tokens"] == usage["tokens"]


def test_cost_is_rounded_up_micro_dollars(settings):
    settings.MODEL_PRICES = {"m": (3_000_000, 15_000_000, 3_750_000, 300_000)}

    assert cost_micros("m", 1000, 100, 0, 0) == 3000 + 1500
    assert cost_micros("m", 0, 0, 0, 1) == 1
    assert cost_micros("unknown-model", 1000, 1000, 0, 0) == 0


def test_workspace_page_shows_tokens_used(org_a):
    client = ApiClient(org_a.host)
    client.client.force_login(org_a.owner.user)
    page = client.get("/").content.decode()

    assert 'id="tokens-used"' in page
    assert "tokens used" in page
    assert "counted against the" in page
    assert 'id="usage-chart"' in page


def test_questions_over_plan_rate_get_429_with_retry_after():
    from organizations.models import Plan

    org = make_org("rate")
    plan = Plan.objects.create(
        slug=f"slow-{org.organization.slug}",
        name="Slow",
        monthly_tokens=10**9,
        requests_per_minute=2,
    )
    org.organization.plan = plan
    org.organization.save(update_fields=["plan"])
    client = ApiClient(org.host, org.owner.token)
    conversation = client.post("/api/v1/conversations/", {"document_ids": []}).json()
    path = f"/api/v1/conversations/{conversation['id']}/messages/"

    statuses = []
    for _ in range(3):
        statuses.append(client.post(path, {"content": "hello?"}))
        # Let each answer finish so only the rate limit can refuse the next.
        body = statuses[-1].json()
        if statuses[-1].status_code == 201:
            _wait_for_answer(client, body["assistant_message"]["id"])

    assert [r.status_code for r in statuses[:2]] == [201, 201]
    assert statuses[2].status_code == 429
    assert statuses[2].json()["error"]["code"] == "rate_limited"
    assert 0 < int(statuses[2]["Retry-After"]) <= 60
