/* Order statistics of measured samples (round trips, times to direct). */
#ifndef PL_STATS_H
#define PL_STATS_H

/* Sort v (n values) in ascending order. */
void stats_sort(double *v, int n);
/* The q-quantile (0..1) of n sorted values by nearest rank; -1 when n is 0. */
double stats_quantile(const double *sorted, int n, double q);

#endif
