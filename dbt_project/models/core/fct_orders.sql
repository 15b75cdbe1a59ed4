-- One row per order (deduplicated), with net revenue restated by every refund so far
-- (METRICS 5). Amounts convert to the reporting currency at the rate of their own day: the
-- order at its order date, each refund at its refund date (nearest earlier rate).
--
-- Refunds come from int_refunds_validated: quarantined ones (beyond the order's amount) are
-- left out of net revenue.
--
-- Incremental: every order of the people in int_people_changed is restated (a refund landing
-- 60 days late, a re-sent order or a late FX rate makes its customer changed); the change
-- feed records the (customer_key, order_date) rows that changed, for the cohort marts.
{{
    config(**restated_config(
        'customer_key',
        scope='int_people_changed',
        change_feed=['customer_key', 'order_date'],
    ))
}}
{%- set people_changed = ref('int_people_changed') %}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where {{ people_changed_filter(people_changed) }}

),

refunds as (

    select * from {{ ref('int_refunds_validated') }}
    where quarantine_reason is null and {{ people_changed_filter(people_changed) }}

),

fx as (

    select * from {{ ref('int_fx_rates_filled') }}

),

refunds_converted as (

    select
        order_id,
        count(*) as refund_count,
        max(refunded_at) as last_refunded_at,
        {{ exact_sum('amount_reporting') }} as refunded_amount_reporting
    from refunds
    group by order_id

),

orders_converted as (

    select
        orders.*,
        cast(orders.amount as double) * fx.to_reporting_rate as amount_reporting
    from orders
    asof left join fx
        on
            orders.currency = fx.currency
            and orders.order_date >= fx.valid_from

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
