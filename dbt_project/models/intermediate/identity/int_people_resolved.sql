-- Identity resolution (METRICS 1): contacts and order customers are one person when their
-- normalised e-mails match, i.e. when their customer_key does. An order whose e-mail
-- matches no contact still makes a person (acquisition channel `direct`).
--
-- Incremental: the rows of int_people_changed are restated.
{{ config(**restated_config('customer_key', scope='int_people_changed')) }}
{%- set people_changed = ref('int_people_changed') %}

with

contacts as (

    select
        customer_key,
        count(*) as contact_count,
        min(created_at) as first_contact_created_at,
        -- several contacts with one e-mail: the most recently updated one speaks for consent
        arg_max(marketing_consent, (updated_at, contact_id)) as marketing_consent
    from {{ ref('stg_crm__contacts') }}
    where {{ people_changed_filter(people_changed) }}
    group by customer_key

),

order_customers as (

    select
        customer_key,
        min(ordered_at) as first_ordered_at
    from {{ ref('stg_shop__orders') }}
    where {{ people_changed_filter(people_changed) }}
    group by customer_key

),

first_touches as (

    select
        customer_key,
        min(occurred_at) as first_touch_at,
        -- ties on the timestamp are broken by touchpoint_id so reruns agree
        arg_min(channel, (occurred_at, touchpoint_id)) as first_touch_channel
    from {{ ref('int_touchpoints_resolved') }}
    where {{ people_changed_filter(people_changed) }}
    group by customer_key

),

people as (

    select customer_key from contacts
    union
    select customer_key from order_customers

)

select
    people.customer_key,
    contacts.customer_key is not null as is_crm_contact,
    coalesce(contacts.contact_count, 0) as contact_count,
    coalesce(contacts.marketing_consent, false) as marketing_consent,
    coalesce(first_touches.first_touch_channel, 'direct') as acquisition_channel,
    first_touches.first_touch_at,
    contacts.first_contact_created_at,
    order_customers.first_ordered_at
from people
left join contacts on people.customer_key = contacts.customer_key
left join order_customers on people.customer_key = order_customers.customer_key
left join first_touches on people.customer_key = first_touches.customer_key
