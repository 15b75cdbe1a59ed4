{#
    Post-hooks of incremental core models. Rows whose person or order no longer exists
    upstream (an erasure request removed them from raw) are deleted, so erased people leave
    every table on the next run, whatever its window.
#}
{% macro delete_vanished_people() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as target
    where not exists (
        select 1 from {{ ref('int_people_resolved') }} as people
        where people.customer_key = target.customer_key
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{% macro delete_vanished_orders() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as target
    where not exists (
        select 1 from {{ ref('stg_shop__orders') }} as orders
        where orders.order_id = target.order_id
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
