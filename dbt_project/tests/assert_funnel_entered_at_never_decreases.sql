-- With skipped stages filled at the later stage's moment, a person enters each stage no
-- earlier than the one before it, and every stage below the highest reached has a row.
with

stages as (

    select
        customer_key,
        stage_order,
        entered_at,
        lag(entered_at) over (
            partition by customer_key order by stage_order
        ) as previous_entered_at,
        count(*) over (partition by customer_key) as stage_rows,
        max(stage_order) over (partition by customer_key) as highest_stage_order
    from {{ ref('fct_funnel_stage') }}

)

select *
from stages
where
    entered_at < previous_entered_at
    or stage_rows <> highest_stage_order
