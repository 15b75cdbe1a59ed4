-- Touchpoints with the person they belong to. A touch whose contact_id matches no contact
-- cannot be attributed to anyone and is left out. A view: person-level models read it for
-- the people they restate, and the filter on customer_key reaches the contacts scan.

with

touchpoints as (

    select * from {{ ref('stg_crm__touchpoints') }}

),

contacts as (

    select
        contact_id,
        customer_key
    from {{ ref('stg_crm__contacts') }}

)

select
    touchpoints.touchpoint_id,
    contacts.customer_key,
    touchpoints.contact_id,
    touchpoints.channel,
    touchpoints.campaign_id,
    touchpoints.touch_type,
    touchpoints.occurred_at,
    touchpoints._partition_date
from touchpoints
inner join contacts on touchpoints.contact_id = contacts.contact_id
