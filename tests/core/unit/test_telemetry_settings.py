"""Which endpoint traces go to, from the standard OTEL_* variables."""

import pytest

from app.core.configs import AppConfig


@pytest.mark.parametrize(
    ("settings", "endpoint"),
    [
        ({}, ""),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
            "http://collector:4318/v1/traces",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
            "http://collector:4318/v1/traces",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
            },
            "http://traces:4318/custom",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": True}, ""),
    ],
)
def test_traces_endpoint_follows_the_otel_variables(
    settings: dict[str, object], endpoint: str
) -> None:
    assert AppConfig(**settings).traces_endpoint == endpoint  # type: ignore[arg-type]
