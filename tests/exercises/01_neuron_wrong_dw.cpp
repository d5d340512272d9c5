// Lesson 1's links as a learner might write them, with one known mistake: dw forgets the
// local derivative dp_i/dw_i = x_i and hands dp on unchanged. Built as 01_neuron_wrong_dw;
// CTest's lesson.01_neuron_exercise_grades_a_wrong_dw expects exactly "dw" graded wrong.
double dz_by_hand(double y) { return 1 - y * y; }
double db_by_hand(double dz) { return dz; }
double ds_by_hand(double dz) { return dz; }
Array<double> dp_by_hand(double ds, const Array<double>& p) { return xt::ones_like(p) * ds; }
Array<double> dw_by_hand(const Array<double>& dp, const Array<double>& x) { return dp; }  // the mistake
Array<double> dx_by_hand(const Array<double>& dp, const Array<double>& w) { return dp * w; }
