{#
    Data tests of a daily build look at what the build changed (issue: "checks on the
    slice"). dbt wraps every generic test's relation with this macro; besides the test's own
    `where` config it adds the slice of the tested model, declared in its config
    `meta.check_slice`:
      people       customer_key in int_people_changed (person-level models)
      change_feed  the model's unique_key among the keys its change feed names (staging)
    A full build (the feeds are gone: every model was rebuilt) and FUNNEL_CHECK_SCOPE=full
    test everything. Tests of models without `check_slice` (the marts, small tables) always
    see the whole table.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append(where) -%}{%- endif -%}
    {%- set slice = check_slice_condition() -%}
    {%- if slice -%}{%- do conditions.append(slice) -%}{%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ (conditions | join(' and '))
            ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro check_slice_condition() -%}
    {%- if not execute or env_var('FUNNEL_CHECK_SCOPE', 'slice') == 'full' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') -%}
    {%- set slice = tested.config.meta.get('check_slice') if tested else none -%}
    {%- if not slice -%}{%- do return('') -%}{%- endif -%}
    {%- set tested_relation = api.Relation.create(
        database=tested.database, schema=tested.schema, identifier=tested.alias) -%}
    {%- if slice == 'change_feed' -%}
        {%- if not has_change_feed(tested_relation) -%}{%- do return('') -%}{%- endif -%}
        {%- set key = adapter.quote(tested.config.unique_key) -%}
        {%- do return(key ~ ' in (select ' ~ key ~ ' from ' ~ change_feed(tested_relation)
            ~ " where _change = 'added')") -%}
    {%- elif slice == 'people' -%}
        {%- set contacts = graph.nodes['model.funnel.stg_crm__contacts'] -%}
        {%- set people = graph.nodes['model.funnel.int_people_changed'] -%}
        {%- if not has_change_feed(api.Relation.create(database=contacts.database,
            schema=contacts.schema, identifier=contacts.alias)) -%}
            {%- do return('') -%}
        {%- endif -%}
        {%- do return('customer_key in (select customer_key from ' ~ people.schema ~ '.'
            ~ people.alias ~ ')') -%}
    {%- endif -%}
    {{- exceptions.raise_compiler_error("unknown meta.check_slice '" ~ slice ~ "' of "
        ~ tested.unique_id) -}}
{%- endmacro %}
