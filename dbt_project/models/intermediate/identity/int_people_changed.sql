-- The people this build restates: every customer_key (before and after) of a contact, order
-- or refund that changed in the batch, of the contacts whose touchpoints or CRM events
-- changed, and of the customers with an order or refund dated in an FX rate period that
-- changed. Read from the change feeds of the staging models and of int_fx_rates_filled,
-- which hold every change since the last committed build. Person-level models delete and
-- rebuild all rows of these people. When a feed is missing (an upstream model was just built
-- in full), everyone is restated.
{{ config(materialized='table') }}
{%- set contacts = ref('stg_crm__contacts') %}
{%- set orders = ref('stg_shop__orders') %}
{%- set refunds = ref('stg_shop__refunds') %}
{%- set touchpoints = ref('stg_crm__touchpoints') %}
{%- set lifecycle_events = ref('stg_crm__lifecycle_events') %}
{%- set fx_rates = ref('int_fx_rates_filled') %}
{%- set feeds_complete = has_change_feed(contacts) and has_change_feed(orders)
    and has_change_feed(refunds) and has_change_feed(touchpoints)
    and has_change_feed(lifecycle_events) and has_change_feed(fx_rates) %}

{% if feeds_complete %}
with

contacts_changed as (

    select customer_key from {{ change_feed(contacts) }}

),

orders_changed as (

    select customer_key from {{ change_feed(orders) }}

),

contacts_with_events_changed as (

    select contact_id from {{ change_feed(touchpoints) }}
    union
    select contact_id from {{ change_feed(lifecycle_events) }}

),

orders_with_refunds_changed as (

    select order_id from {{ change_feed(refunds) }}

),

rate_periods_changed as (

    select
        currency,
        valid_from,
        valid_to
    from {{ change_feed(fx_rates) }}

),

refund_customers_in_changed_periods as (

    select orders.customer_key
    from {{ refunds }} as refunds
    inner join rate_periods_changed as periods
        on
            refunds.currency = periods.currency
            and refunds.refund_date >= periods.valid_from
            and (periods.valid_to is null or refunds.refund_date < periods.valid_to)
    inner join {{ orders }} as orders on refunds.order_id = orders.order_id

),

order_customers_in_changed_periods as (

    select orders.customer_key
    from {{ orders }} as orders
    inner join rate_periods_changed as periods
        on
            orders.currency = periods.currency
            and orders.order_date >= periods.valid_from
            and (periods.valid_to is null or orders.order_date < periods.valid_to)

),

changed as (

    select customer_key from contacts_changed
    union
    select customer_key from orders_changed
    union
    select contacts.customer_key
    from {{ contacts }} as contacts
    inner join contacts_with_events_changed as changed_contacts
        on contacts.contact_id = changed_contacts.contact_id
    union
    select orders.customer_key
    from {{ orders }} as orders
    inner join orders_with_refunds_changed as changed_orders
        on orders.order_id = changed_orders.order_id
    union
    select customer_key from order_customers_in_changed_periods
    union
    select customer_key from refund_customers_in_changed_periods

)

select customer_key from changed
where customer_key is not null
{% else %}
select customer_key from {{ contacts }}
union
select customer_key from {{ orders }}
{% endif %}
