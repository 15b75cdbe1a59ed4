"""A snapshot of the asset graph: a change to it shows up here, in review."""

import dagster as dg
import pytest

pytestmark = pytest.mark.unit

ASSETS = {
    # raw: one per landing entity
    *(f"raw/{e}" for e in (
        "contacts", "erasure_requests", "fx_rates", "google_ads", "lifecycle_events",
        "linkedin_ads", "meta_ads", "orders", "refunds", "touchpoints",
    )),
    # dbt: seeds and staging
    "staging/channels", "staging/crm_stage_mapping", "staging/funnel_stages",
    "staging/stg_ads__google_ads", "staging/stg_ads__linkedin_ads", "staging/stg_ads__meta_ads",
    "staging/stg_crm__contacts", "staging/stg_crm__lifecycle_events",
    "staging/stg_crm__touchpoints", "staging/stg_fx__rates",
    "staging/stg_privacy__erasure_requests", "staging/stg_shop__orders",
    "staging/stg_shop__refunds",
    # dbt: intermediate and core
    "intermediate/int_ad_spend_unioned", "intermediate/int_as_of_date",
    "intermediate/int_attribution_credits_allocated", "intermediate/int_fx_rates_filled",
    "intermediate/int_people_changed", "intermediate/int_people_resolved",
    "intermediate/int_stage_events_unioned", "intermediate/int_touchpoints_resolved",
    "core/dim_customers", "core/fct_ad_spend_daily", "core/fct_attribution_credits",
    "core/fct_customer_lifecycle_monthly", "core/fct_funnel_stage", "core/fct_orders",
    # marts, prediction, publication
    "marts/cac_daily", "marts/customers", "marts/funnel_daily", "marts/lifecycle_monthly",
    "marts/ltv_cohorts", "marts/unit_economics_monthly",
    "predict/customer_predictions", "serving/marts", "serving/report",
}  # fmt: skip


def test_the_asset_graph_is_as_reviewed():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable
    }
    assert keys == ASSETS
    # The report reads only what was published, never the warehouse.
    upstream_of_report = graph.get(dg.AssetKey(["serving", "report"])).parent_keys
    assert upstream_of_report == {dg.AssetKey(["serving", "marts"])}
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"daily_funnel_job"}
    assert {s.name for s in defs.schedules} == {"daily_funnel_schedule"}
    assert {s.name for s in defs.sensors} == {"landing_sensor", "mart_freshness_sensor"}
    # Every mart carries its Great Expectations suite as a blocking check.
    for mart in ("cac_daily", "customers", "funnel_daily", "lifecycle_monthly", "ltv_cohorts",
                 "unit_economics_monthly"):  # fmt: skip
        key = dg.AssetCheckKey(dg.AssetKey(["marts", mart]), "ge_suite")
        assert key in graph.asset_check_keys
        assert graph.get_check_spec(key).blocking
    assert all(graph.get(k).partitions_def is not None for k in graph.get_all_asset_keys()
               if graph.get(k).is_materializable)  # fmt: skip
