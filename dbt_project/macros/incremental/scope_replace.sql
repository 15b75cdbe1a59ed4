{#
    Incremental strategy `scope_replace`: replace every row whose key is in the model's scope,
    and record in the model's change feed what that changed.

    The scope is either
      - the relation named by config `scope` (e.g. `int_people_changed`: every row of those
        people is deleted and the model's new rows for them inserted), or
      - the keys of the new rows; a new row whose config `tombstone_column` is null (a column
        never null in real rows) only puts its key in scope (the key has no rows any more)
        and is not inserted (macro `with_tombstones` makes such rows).
    `unique_key` names the (single) key column. Models set on_schema_change='fail': a new
    column needs `dbt build --full-refresh`.

    With config `change_feed` (a list of columns), rows that differ between the old and the new
    rows of the scope (EXCEPT ALL both ways, so a row rebuilt identically is no change) are
    appended to the feed `<relation>__changes` with those columns and `_change` ('removed' or
    'added'). Downstream incremental models read the feed (macro `change_feed`) to restate
    exactly the groups that changed. Feeds accumulate over failed builds and are emptied by the
    on-run-end hook `commit_build` once a build has succeeded in full.
#}
{% macro get_incremental_scope_replace_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is none or key is not string -%}
        {{ exceptions.raise_compiler_error("scope_replace needs one unique_key column in " ~ this) }}
    {%- endif -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set tombstone_column = config.get('tombstone_column') -%}
    {%- set column_list = quoted_columns(columns) -%}
    {%- if config.get('scope') -%}
        {%- set scope_sql = 'select ' ~ adapter.quote(key) ~ ' from ' ~ ref(config.get('scope')) -%}
    {%- else -%}
        {%- set scope_sql = 'select ' ~ adapter.quote(key) ~ ' from ' ~ temp -%}
    {%- endif -%}
    {%- set new_rows -%}
        select {{ column_list }} from {{ temp }}
        {%- if tombstone_column %} where {{ adapter.quote(tombstone_column) }} is not null{% endif %}
    {%- endset -%}
    {%- set feed_columns = config.get('change_feed') or [] -%}

    {%- if feed_columns %}
    {%- set feed = change_feed(target) -%}
    {%- set old_rows = make_temp_relation(target, '__scope_old') -%}
    create table if not exists {{ feed }} as
        select {{ quoted_columns(feed_columns) }}, cast(null as varchar) as _change
        from {{ target }} where false;
    create or replace temporary table {{ old_rows.identifier }} as
        select {{ column_list }} from {{ target }} where {{ adapter.quote(key) }} in ({{ scope_sql }});
    insert into {{ feed }}
        select {{ quoted_columns(feed_columns) }}, 'removed'
        from (select * from {{ old_rows.identifier }} except all {{ new_rows }});
    insert into {{ feed }}
        select {{ quoted_columns(feed_columns) }}, 'added'
        from ({{ new_rows }} except all select * from {{ old_rows.identifier }});
    drop table {{ old_rows.identifier }};
    {%- endif %}
    delete from {{ target }} where {{ adapter.quote(key) }} in ({{ scope_sql }});
    insert into {{ target }} ({{ column_list }}) {{ new_rows }};
{% endmacro %}

{# A comma-separated list of quoted column names. #}
{% macro quoted_columns(columns) -%}
    {%- set quoted = [] -%}
    {%- for column in columns -%}{%- do quoted.append(adapter.quote(column)) -%}{%- endfor -%}
    {{- quoted | join(', ') -}}
{%- endmacro %}
