-- The three ad platforms' campaign-days in one shape, labelled with their paid channel.
{% set platforms = ['google_ads', 'meta_ads', 'linkedin_ads'] %}

with

unioned as (

    {% for platform in platforms %}
    select
        spend_date,
        '{{ platform }}' as channel,
        campaign_id,
        campaign_name,
        impressions,
        clicks,
        spend,
        currency,
        _partition_date
    from {{ ref('stg_ads__' ~ platform) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
