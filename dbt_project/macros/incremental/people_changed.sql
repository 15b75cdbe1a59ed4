{#
    SQL predicate restricting a person-level model's source rows to the people it restates:
    in an incremental build, `column` in int_people_changed; in a full build, true.
#}
{% macro people_changed_filter(people_changed, column='customer_key') -%}
    {%- if is_incremental() -%}
        {{ column }} in (select customer_key from {{ people_changed }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
