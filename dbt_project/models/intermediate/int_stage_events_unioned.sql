-- Raw funnel stage entries: the first occurrence of each stage per person, before the
-- skipped-stage fill of fct_funnel_stage (the logic is the macro stage_entries_sql, shared
-- with the incremental core models).
{{ stage_entries_sql() }}
