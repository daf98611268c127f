from federation.agents.result import summarize_errors


def test_a_value_kept_as_written_is_no_missing_data_for_an_agent() -> None:
    note = {"message": "Customer crm:5 field phones: '28303384290' is not a phone number …; kept as written",
            "path": ["customers", 0, "phones"], "extensions": {"code": "SOURCE_DATA_ERROR", "source": "crm",
                                                                "kept": True}}
    failure = {"message": "crm is unavailable", "extensions": {"code": "SOURCE_UNAVAILABLE", "source": "crm"}}
    summary, missing = summarize_errors([note, failure])
    assert missing == ["data from crm (SOURCE_UNAVAILABLE)"]
    assert summary[0]["kept"] is True and summary[0]["path"] == "customers.0.phones"
    assert "kept" not in summary[1]
