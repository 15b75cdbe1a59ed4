{#
    on-run-end hook: commit the batch. When every model of the project was selected and
    every node of the invocation succeeded (warnings allowed), the batch's latest load time
    becomes the new build watermark (model batch_build_watermarks) and the change feeds are
    emptied, and the list of people restated (int_people_changed, which the checks' slices
    read) forgets the people who have no row any more: an erased person's key must not
    outlive the build that removed them. Otherwise nothing is committed: the next build restates the same batch again
    (every incremental model is idempotent), together with whatever landed since.
#}
{% macro commit_build(results) %}
    {%- if not execute or flags.WHICH not in ('build', 'run') or target.type != 'duckdb'
        or flags.EMPTY -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- set failed = [] -%}
    {%- for result in results -%}
        {%- if result.status in ('error', 'fail', 'skipped', 'runtime error') -%}
            {%- do failed.append(result.node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set models = [] -%}
    {%- set feeds = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
        and node.config.enabled -%}
        {%- do models.append(node.unique_id) -%}
        {%- if node.config.get('change_feed') -%}
            {%- do feeds.append(change_feed(api.Relation.create(
                database=node.database, schema=node.schema, identifier=node.alias))) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set unselected = models | reject('in', selected_resources) | list -%}
    {%- if failed or unselected -%}
        {{- log("Build not committed: " ~ (failed | length) ~ " node(s) failed or skipped, "
            ~ (unselected | length) ~ " model(s) not selected; the next build restates this batch.",
            info=true) -}}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- set watermarks = graph.nodes['model.funnel.batch_build_watermarks'] -%}
    {%- set pending = graph.nodes['model.funnel.batch_loads_pending'] -%}
    insert into {{ watermarks.schema }}.{{ watermarks.alias }} (built_until, committed_at)
    select max(loaded_at), current_timestamp::timestamp
    from {{ pending.schema }}.{{ pending.alias }}
    having max(loaded_at) is not null;
    {%- for feed in feeds %}
    {%- if has_change_feed_table(feed) %}
    delete from {{ feed }};
    {%- endif %}
    {%- endfor %}
    {%- set changed = graph.nodes['model.funnel.int_people_changed'] %}
    {%- set resolved = graph.nodes['model.funnel.int_people_resolved'] %}
    delete from {{ changed.schema }}.{{ changed.alias }}
    where customer_key not in (
        select customer_key from {{ resolved.schema }}.{{ resolved.alias }}
        where customer_key is not null
    );
{% endmacro %}
