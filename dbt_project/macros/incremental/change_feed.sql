{#
    The change feed of an incremental model built with the `scope_replace` strategy (see
    there): `<relation>__changes`, the rows that changed since the last committed build.
#}
{% macro change_feed(relation) -%}
    {%- do return(api.Relation.create(
        database=relation.database, schema=relation.schema,
        identifier=relation.identifier ~ '__changes', type='table')) -%}
{%- endmacro %}

{#
    True when `relation`'s change feed can be trusted for this build: it exists. A model
    built non-incrementally drops its feed first (pre-hook `reset_change_feed`), so its
    downstream models see no feed and recompute in full.
#}
{% macro has_change_feed(relation) -%}
    {%- if not execute -%}{%- do return(false) -%}{%- endif -%}
    {%- do return(has_change_feed_table(change_feed(relation))) -%}
{%- endmacro %}

{% macro has_change_feed_table(feed) -%}
    {#- asked of the database, not dbt's relation cache: feeds are created and dropped by SQL -#}
    {%- set found = run_query(
        "select count(*) from information_schema.tables where table_schema = '"
        ~ feed.schema ~ "' and table_name = '" ~ feed.identifier ~ "'") -%}
    {%- do return(found.columns[0].values()[0] > 0) -%}
{%- endmacro %}

{# Pre-hook of every model with a change feed: a full (non-incremental) build drops it. #}
{% macro reset_change_feed() -%}
    {%- if execute and not is_incremental() -%}
        drop table if exists {{ change_feed(this) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
