-- The load time up to which every model has been built: one row per committed build,
-- appended by the on-run-end hook `commit_build` (never by this model's own SQL, which only
-- creates the table). A full refresh empties it, so everything is pending again.
{{ config(materialized='incremental', incremental_strategy='append') }}

select
    cast(null as timestamp) as built_until,
    cast(null as timestamp) as committed_at
where false
