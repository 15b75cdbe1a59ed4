-- Grain: one row per (month, state), dense: every month from the first cohort month to the
-- as-of month and every state, with 0 customers where nobody is in that state, so a stacked
-- monthly chart has no gaps.

with

as_of as (
    select cast(date_trunc('month', as_of_date) as date) as as_of_month
    from {{ ref('int_as_of_date') }}
),

-- the fact carries the dormant month after the last purchase even before it begins
lifecycle as (
    select * from {{ ref('fct_customer_lifecycle_monthly') }}
    where month <= (select as_of.as_of_month from as_of)
),

states as (
    select state from {{ ref('lifecycle_states') }}
),

month_spine as (
    select cast(unnest(generate_series(
        (select min(month) from lifecycle),
        (select as_of.as_of_month from as_of),
        interval 1 month
    )) as date) as month
),

counts as (
    select
        month,
        state,
        count(distinct customer_key) as customers
    from lifecycle
    group by all
),

final as (
    select
        month_spine.month,
        states.state,
        coalesce(counts.customers, 0) as customers
    from month_spine
    cross join states
    left join counts
        on
            month_spine.month = counts.month
            and states.state = counts.state
)

select
    cast(month as date) as month,
    cast(state as varchar) as state,
    cast(customers as bigint) as customers
from final
