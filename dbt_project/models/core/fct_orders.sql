-- One row per order (deduplicated), with net revenue restated by every refund so far
-- (METRICS 5). Amounts convert to the reporting currency at the rate of their own day: the
-- order at its order date, each refund at its refund date (nearest earlier rate).
--
-- Incremental (delete+insert on order_id): a run recomputes every order of each customer
-- who has an order, a refund or a relevant FX rate landed in the run window. So a refund
-- landing 60 days after its order restates that order, and purchase numbers stay right
-- when an older order lands late. Orders gone from staging (erasure) are deleted by the
-- post-hook.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
        post_hook=["{{ delete_vanished_orders() }}"],
    )
}}
-- depends_on: {{ ref('stg_fx__rates') }}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

fx as (

    select * from {{ ref('int_fx_rates_filled') }}

),

{% if is_incremental() %}
rates_landed as (

    -- the first day whose conversion a rate landed in the window can change, per currency
    select
        currency,
        min(rate_date) as first_rate_date
    from {{ ref('stg_fx__rates') }}
    where {{ in_run_window('_partition_date') }}
    group by currency

),

changed_orders as (

    select order_id from orders
    where {{ in_run_window('_partition_date') }}

    union

    select order_id from refunds
    where {{ in_run_window('_partition_date') }}

    union

    select orders.order_id
    from orders
    inner join rates_landed
        on
            rates_landed.currency in (orders.currency, {{ reporting_currency() }})
            and orders.order_date >= rates_landed.first_rate_date

    union

    select refunds.order_id
    from refunds
    inner join rates_landed
        on
            rates_landed.currency in (refunds.currency, {{ reporting_currency() }})
            and refunds.refund_date >= rates_landed.first_rate_date

),

orders_in_scope as (

    -- all orders of the affected customers, so purchase numbers are recomputed whole
    select *
    from orders
    where customer_key in (
        select changed_customers.customer_key
        from orders as changed_customers
        inner join changed_orders on changed_customers.order_id = changed_orders.order_id
    )

),
{% else %}
orders_in_scope as (

    select * from orders

),
{% endif %}

refunds_converted as (

    select
        refunds.order_id,
        count(*) as refund_count,
        max(refunds.refunded_at) as last_refunded_at,
        {{ exact_sum('cast(refunds.amount as double) * fx.to_reporting_rate') }}
            as refunded_amount_reporting
    from refunds
    asof left join fx
        on
            refunds.currency = fx.currency
            and refunds.refund_date >= fx.valid_from
    where refunds.order_id in (select orders_in_scope.order_id from orders_in_scope)
    group by refunds.order_id

),

orders_converted as (

    select
        orders_in_scope.*,
        orders_in_scope.status in ('paid', 'refunded') as is_purchase,
        cast(orders_in_scope.amount as double) * fx.to_reporting_rate as amount_reporting
    from orders_in_scope
    asof left join fx
        on
            orders_in_scope.currency = fx.currency
            and orders_in_scope.order_date >= fx.valid_from

),

numbered as (

    select
        orders_converted.*,
        case
            when orders_converted.is_purchase
                then row_number() over (
                    partition by orders_converted.customer_key, orders_converted.is_purchase
                    order by orders_converted.ordered_at, orders_converted.order_id
                )
        end as purchase_number
    from orders_converted

)

select
    -- ids
    numbered.order_id,
    numbered.customer_key,

    -- timestamps
    numbered.ordered_at,
    numbered.order_date,

    -- attributes
    numbered.status,
    numbered.is_purchase,
    numbered.currency,
    cast(numbered.purchase_number as integer) as purchase_number,
    coalesce(numbered.purchase_number = 1, false) as is_first_purchase,

    -- numerics
    numbered.amount,
    numbered.amount_reporting,
    coalesce(refunds_converted.refunded_amount_reporting, 0.0) as refunded_amount_reporting,
    cast(coalesce(refunds_converted.refund_count, 0) as integer) as refund_count,
    refunds_converted.last_refunded_at,
    case
        when numbered.is_purchase
            then
                numbered.amount_reporting
                - coalesce(refunds_converted.refunded_amount_reporting, 0.0)
        else 0.0
    end as net_revenue
from numbered
left join refunds_converted on numbered.order_id = refunds_converted.order_id
