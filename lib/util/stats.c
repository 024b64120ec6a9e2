#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

void stats_sort(double *v, int n)
{
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
}

double stats_quantile(const double *sorted, int n, double q)
{
	int k;

	if (n <= 0)
		return -1;
	k = (int)ceil(q * n) - 1;
	return sorted[k < 0 ? 0 : k >= n ? n - 1 : k];
}
