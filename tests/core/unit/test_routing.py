import httpx
from structlog.testing import capture_logs


async def test_access_log_names_the_full_route_template(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        await client.get("/api/v1/users/12")
        await client.get("/health/ready")
        await client.get("/nowhere")

    routes = [log["route"] for log in logs if log.get("event") == "request"]
    assert routes == ["/api/v1/users/{user_id}", "/health/ready", None]


async def test_access_log_line_has_status_duration_and_request_id(
    client: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        await client.get("/health", headers={"X-Request-ID": "abc"})

    [line] = [log for log in logs if log.get("event") == "request"]
    assert (line["method"], line["status"]) == ("GET", 200)
    assert line["duration_ms"] >= 0
