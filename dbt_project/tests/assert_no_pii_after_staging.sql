-- Privacy (METRICS 2): no e-mail or name column exists after the staging layer.
select
    table_schema,
    table_name,
    column_name
from information_schema.columns
where
    table_schema in ('batch', 'intermediate', 'core', 'predict', 'marts')
    and (
        column_name ilike '%email%'
        or column_name ilike '%full_name%'
        or column_name ilike 'name'
    )
