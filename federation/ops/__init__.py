"""Operations: Prometheus metrics, OpenTelemetry traces, multi-process serving."""
