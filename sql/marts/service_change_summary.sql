-- marts.service_change_summary: one row per period (quarter and month) with a dated change of a
-- service object (marts.service_changes), counted by how it was found: the figures the report's
-- "What changed" paragraph states. Listings, delistings and relistings are counted apart from the
-- changes (a service object appearing or going is not a change of what it serves).
-- Parameters: $changes = marts.service_changes.
with changes as (
    select * from read_parquet($changes)
),

periods as (
    select quarter_label(changed_at) as period, 'quarter' as period_type, * from changes
    union all
    select month_label(changed_at) as period, 'month' as period_type, * from changes
)

select
    period,
    period_type,
    count(*) filter (where metric <> 'listing') as changes,
    count(*) filter (where detector = 'pelt_l1') as detected_changes,
    count(*) filter (where detector = 'price_snapshot') as price_changes,
    count(*) filter (where detector = 'endpoint_state' and metric <> 'listing') as endpoint_changes,
    count(*) filter (where metric = 'listing') as listing_events,
    count(*) filter (where official and metric <> 'listing') as official_changes,
    count(distinct provider || chr(31) || model) filter (
        where official and metric <> 'listing'
    ) as official_service_objects
from periods
group by period, period_type
order by period_type desc, period
