{#
    The run window: Dagster passes the partition range as vars min_date / max_date
    (inclusive). A raw row belongs to the window when its file's day (_partition_date) is in
    it. The defaults cover every date, so a plain `dbt build` reprocesses everything.
#}
{% macro in_run_window(column) -%}
    {{ column }} between cast('{{ var("min_date") }}' as date) and cast('{{ var("max_date") }}' as date)
{%- endmacro %}
