{#
    The batch of an incremental build: the landing days (re)loaded since the last build that
    succeeded in full (model batch_loads_pending). Incremental models restate exactly what
    those loads touched; a full build restates everything.
#}

{# SELECT of the days of `entity` in the batch. #}
{% macro pending_days(pending_loads, entity) -%}
    select partition_date from {{ pending_loads }} where entity = '{{ entity }}'
{%- endmacro %}

{# True when a load of the batch erased rows from raw (an erasure request, or a sweep). #}
{% macro batch_has_erasures(pending_loads) -%}
    {%- if not execute -%}{%- do return(false) -%}{%- endif -%}
    {%- set found = run_query(
        "select count(*) from " ~ pending_loads ~ " where has_erasures") -%}
    {%- do return(found.columns[0].values()[0] > 0) -%}
{%- endmacro %}

{#
    The keys an incremental staging model restates (a SELECT of one column `key_column`):
    keys of source rows in the batch's days of `entity`, keys of this model's rows that came
    from those days (a reloaded day may have lost them), and, when the batch erased rows,
    keys of this model that are no longer in the source at all.
#}
{% macro keys_to_restate(pending_loads, source_relation, entity, key_expression, key_column) %}
    select {{ key_expression }} as {{ key_column }}
    from {{ source_relation }}
    where _partition_date in ({{ pending_days(pending_loads, entity) }})
        and {{ key_expression }} is not null

    union

    select {{ key_column }}
    from {{ this }}
    where _partition_date in ({{ pending_days(pending_loads, entity) }})

    {%- if batch_has_erasures(pending_loads) %}

    union

    select existing.{{ key_column }}
    from {{ this }} as existing
    where not exists (
        select 1 from {{ source_relation }}
        where {{ key_expression }} = existing.{{ key_column }}
    )
    {%- endif %}
{% endmacro %}

{#
    The new rows of an incremental model (`produced`) plus a tombstone for every key of
    `scope` that has no row any more: the key with every other column null, which the
    scope_replace strategy recognises by its null `tombstone_column` and does not insert.
#}
{% macro with_tombstones(produced, scope, key_column) %}
    select * from {{ produced }}
    union all by name
    select {{ key_column }}
    from {{ scope }}
    where {{ key_column }} not in (select {{ key_column }} from {{ produced }})
{% endmacro %}
