-- marts.family_demand_tail: one row per (period, family): the family and every family after it
-- in the order of rank (then name), summed, so that the report's family table can show the
-- families past its top n as one row by picking the row at position n + 1, without summing.
--   position: the family's place in that order, 1 first (rank may tie, position does not)
--   families: the families at this position and after it
--   requests, tokens, request_share, token_share: their sums (a null, non-finite figure left out)
-- Parameters: $family_demand = marts.family_demand.
with ordered as (
    select
        *,
        row_number() over (partition by period, period_type order by rank, family) as position
    from read_parquet($family_demand)
),

tail as (
    select
        period,
        period_type,
        family,
        position,
        count(*) over later as families,
        sum(requests) over later as requests,
        sum(request_share) over later as request_share,
        sum(tokens) over later as tokens,
        sum(token_share) over later as token_share
    from ordered
    window later as (
        partition by period, period_type order by position rows between current row and unbounded following
    )
)

select *
from tail
order by period_type desc, period, position
