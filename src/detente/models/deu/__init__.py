"""Models of EU legislative decision-making, scored on the DEU data (``docs/deu-benchmark.md``).

=============================  ====================  ==============================================
module                         registered model      what it forecasts with
=============================  ====================  ==============================================
:mod:`.procedural`             ``procedural``        agenda-setter models: the Commission's best
                                                     point among those the Council (and under
                                                     codecision the Parliament) prefer to the
                                                     status quo (Tsebelis & Garrett 2000; Crombez 1996)
:mod:`.median_regression`      ``deu_candidate``     a least-absolute-deviation (median) regression
                                                     stack of the compromise model and procedural
                                                     anchors, optionally snapped to an actor position
:mod:`.reweighted_compromise`  ``deu_candidate2``    the compromise model with re-estimated
                                                     Commission/EP weights and vote and salience
                                                     exponents, shrunk toward the reference point
                                                     under unanimity
:mod:`.point_masses`           ``deu_candidate3``    the compromise model with point masses: the
                                                     Commission's proposal or the status quo when a
                                                     large enough Council share sits on it, else
                                                     snapping to a nearby actor position
=============================  ====================  ==============================================

The three candidates keep the model names under which they were pre-registered
(``preregistration/deu_candidate*.md``); those documents, frozen before any fitting, name
their files by the old paths ``src/detente/models/deu_candidate.py``, ``deu_candidate2.py``
and ``deu_candidate3.py``, which are the modules above (same code, renamed for what they do).
No code imported the old paths, so none is kept.
"""
