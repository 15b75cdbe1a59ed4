"""A snapshot of the asset graph: a change to it shows up here, in review."""

import dagster as dg
import pytest

pytestmark = pytest.mark.unit

RAW = (
    "contacts", "erasure_requests", "fx_rates", "google_ads", "lifecycle_events",
    "linkedin_ads", "meta_ads", "orders", "refunds", "touchpoints",
)  # fmt: skip
ASSETS = {
    # raw: one per landing entity (partitioned by landing day), and the audit of the loads
    *(f"raw/{e}" for e in RAW),
    "raw/load_audit",
    # dbt: the batch, seeds and staging
    "batch/batch_build_watermarks", "batch/batch_loads_pending",
    "staging/attribution_models", "staging/channels", "staging/crm_stage_mapping",
    "staging/customer_statuses", "staging/funnel_stages", "staging/lifecycle_states",
    "staging/stg_ads__google_ads", "staging/stg_ads__linkedin_ads", "staging/stg_ads__meta_ads",
    "staging/stg_crm__contacts", "staging/stg_crm__lifecycle_events",
    "staging/stg_crm__touchpoints", "staging/stg_fx__rates", "staging/stg_load__load_log",
    "staging/stg_shop__orders", "staging/stg_shop__refunds",
    # dbt: intermediate and core
    "intermediate/int_ad_spend_unioned", "intermediate/int_as_of_date",
    "intermediate/int_conversion_touches_weighted", "intermediate/int_conversions_identified",
    "intermediate/int_fx_rates_filled", "intermediate/int_people_changed",
    "intermediate/int_people_resolved", "intermediate/int_refunds_unmatched",
    "intermediate/int_refunds_validated", "intermediate/int_stage_events_unioned",
    "intermediate/int_touchpoints_resolved",
    "core/dim_customers", "core/fct_ad_spend_daily", "core/fct_attribution_credits",
    "core/fct_customer_lifecycle_monthly", "core/fct_funnel_stage", "core/fct_orders",
    # dbt: predictions (the fits are dbt Python models)
    "predict/customer_rfm_summary", "predict/customer_rfm_calibration",
    "predict/customer_prediction_fits", "predict/customer_predictions",
    "predict/customer_prediction_holdout",
    # dbt: the metrics layer's time spine
    "semantic/metricflow_time_spine",
    # publication
    "serving/marts", "serving/report",
}  # fmt: skip
# Marts are checked by their own test: they grow with the issues that add them.
CORE_MARTS = {
    "cac_daily", "customers", "funnel_daily", "lifecycle_monthly", "ltv_cohorts",
    "unit_economics_monthly",
}  # fmt: skip


def test_the_asset_graph_is_as_reviewed():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable
    }
    marts = {k.split("/", 1)[1] for k in keys if k.startswith("marts/")}
    assert keys - {f"marts/{m}" for m in marts} == ASSETS
    assert marts >= CORE_MARTS
    # The report reads only what was published, never the warehouse.
    upstream_of_report = graph.get(dg.AssetKey(["serving", "report"])).parent_keys
    assert upstream_of_report == {dg.AssetKey(["serving", "marts"])}
    # Publication waits for every mart; dbt's batch waits for the audit of the raw loads.
    published = graph.get(dg.AssetKey(["serving", "marts"])).parent_keys
    assert {dg.AssetKey(["marts", m]) for m in marts} <= published
    batch = graph.get(dg.AssetKey(["batch", "batch_loads_pending"])).parent_keys
    assert dg.AssetKey(["raw", "load_audit"]) in batch
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"daily_funnel_job"}
    assert {s.name for s in defs.schedules} == {"daily_funnel_schedule"}
    assert {s.name for s in defs.sensors} >= {"landing_sensor"}
    # Every mart and the predictions carry their Great Expectations suite as a blocking check.
    for key in [*(["marts", m] for m in CORE_MARTS), ["predict", "customer_predictions"]]:
        check = dg.AssetCheckKey(dg.AssetKey(key), "ge_suite")
        assert check in graph.asset_check_keys, check
        assert graph.get_check_spec(check).blocking
    # Raw suites run in the audit, before dbt, with the blocking reconciliation.
    audit = dg.AssetKey(["raw", "load_audit"])
    assert dg.AssetCheckKey(audit, "every_record_accounted_for") in graph.asset_check_keys
    for entity in RAW:
        assert dg.AssetCheckKey(audit, f"suite_{entity}") in graph.asset_check_keys
    # Partitions mean something: only the raw landing days are partitioned.
    partitioned = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable and graph.get(k).partitions_def is not None
    }
    assert partitioned == {f"raw/{e}" for e in RAW}


def test_the_dbt_command_is_the_same_for_every_window():
    from pipelines.defs.dbt.assets import dbt_build_args

    # No --vars: the window is read from the warehouse, so partial parsing stays valid.
    assert dbt_build_args() == ["build", "--exclude", "test_type:unit"]
