{#
    The config of an incremental model built with the scope_replace strategy, in one place:
        {{ config(**restated_config('customer_key', scope='int_people_changed',
                                    change_feed=['customer_key', 'order_date'])) }}
    On engines without the strategy (dbt-spark with plain Parquet tables, which refuse DELETE)
    the model is a table rebuilt in full every build instead.
#}
{% macro restated_config(unique_key, scope=none, change_feed=none, tombstone_column=none) -%}
    {%- if target.type != 'duckdb' -%}
        {%- do return({'materialized': 'table'}) -%}
    {%- endif -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': 'scope_replace',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    } -%}
    {%- if scope -%}{%- do settings.update({'scope': scope}) -%}{%- endif -%}
    {%- if tombstone_column -%}
        {%- do settings.update({'tombstone_column': tombstone_column}) -%}
    {%- endif -%}
    {%- if change_feed -%}
        {%- do settings.update({
            'change_feed': change_feed, 'pre_hook': ["{{ reset_change_feed() }}"]}) -%}
    {%- endif -%}
    {%- do return(settings) -%}
{%- endmacro %}
