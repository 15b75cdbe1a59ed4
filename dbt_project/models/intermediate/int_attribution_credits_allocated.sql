-- Attribution credits of every person's lead and customer conversion (METRICS 4); the logic
-- is the macro attribution_credits_sql, shared with the incremental fct_attribution_credits.
{{ attribution_credits_sql(ref('int_stage_events_unioned')) }}
